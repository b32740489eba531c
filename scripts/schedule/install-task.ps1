<#
.SYNOPSIS
  Đăng ký tác vụ Windows Task Scheduler chạy "sheets-sync run" hai lần mỗi ngày.

.DESCRIPTION
  Điền đường dẫn tuyệt đối của thư mục cài đặt (thư mục hiện tại, hoặc -InstallDir) vào mẫu
  sheets-sync.xml rồi đăng ký tác vụ. Thư mục cài đặt phải có .venv\Scripts\sheets-sync.exe
  và tệp cấu hình (mặc định config.toml).

  Mặc định tác vụ chạy cả khi không có ai đăng nhập (S4U, không lưu mật khẩu); việc này thường
  cần mở PowerShell bằng "Run as administrator". Dùng -RunOnlyWhenLoggedOn nếu chỉ muốn chạy khi
  tài khoản đang đăng nhập (không cần quyền quản trị).

.EXAMPLE
  cd C:\sheets-sync
  powershell -ExecutionPolicy Bypass -File scripts\schedule\install-task.ps1

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File scripts\schedule\install-task.ps1 -Times 06:00,13:00 -Config D:\cau-hinh\config.toml
#>
[CmdletBinding()]
param(
    [string]$InstallDir = (Get-Location).Path,
    [string]$Config = "config.toml",
    [string]$TaskName = "sheets-sync",
    [string[]]$Times = @("05:30", "12:30"),
    [string]$User = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name,
    [switch]$RunOnlyWhenLoggedOn,
    [switch]$NoRegister
)

$ErrorActionPreference = "Stop"
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8

$InstallDir = (Resolve-Path -LiteralPath $InstallDir).Path.TrimEnd("\")
$exe = Join-Path $InstallDir ".venv\Scripts\sheets-sync.exe"
if (-not (Test-Path -LiteralPath $exe)) {
    throw "Không tìm thấy $exe. Hãy cài đặt trước (trong $InstallDir): py -m venv .venv ; .venv\Scripts\python -m pip install ."
}
if ([System.IO.Path]::IsPathRooted($Config)) { $configPath = $Config } else { $configPath = Join-Path $InstallDir $Config }
if (-not (Test-Path -LiteralPath $configPath)) {
    throw "Không tìm thấy tệp cấu hình $configPath."
}
$configPath = (Resolve-Path -LiteralPath $configPath).Path
# "powershell -File" passes "-Times 06:00,13:00" as one string.
if ($Times.Count -eq 1) { $Times = @($Times[0] -split "[,; ]+" | Where-Object { $_ }) }
if ($Times.Count -ne 2) { throw "Cần đúng hai giờ chạy, ví dụ -Times 05:30,12:30." }
foreach ($t in $Times) {
    if ($t -notmatch '^([01]?\d|2[0-3]):[0-5]\d$') { throw "Giờ chạy không hợp lệ: '$t' (cần dạng HH:mm)." }
}
$today = Get-Date -Format "yyyy-MM-dd"
$starts = $Times | ForEach-Object { "{0}T{1}:00" -f $today, ([datetime]::ParseExact($_, "H:mm", $null).ToString("HH:mm")) }
if ($RunOnlyWhenLoggedOn) { $logonType = "InteractiveToken" } else { $logonType = "S4U" }

function Escape-Xml([string]$s) { [System.Security.SecurityElement]::Escape($s) }

$template = Join-Path $PSScriptRoot "sheets-sync.xml"
$xml = [System.IO.File]::ReadAllText($template, [System.Text.Encoding]::UTF8)
$values = [ordered]@{
    "__INSTALL_DIR__" = (Escape-Xml $InstallDir)
    "__CONFIG__"      = (Escape-Xml $configPath)
    "__USER__"        = (Escape-Xml $User)
    "__LOGON_TYPE__"  = $logonType
    "__START_1__"     = $starts[0]
    "__START_2__"     = $starts[1]
}
foreach ($name in $values.Keys) { $xml = $xml.Replace($name, $values[$name]) }
if ($xml -match "__[A-Z0-9_]+__") { throw "Mẫu sheets-sync.xml còn chỗ chưa điền: $($Matches[0])" }

# A filled-in copy for `schtasks /Create /XML` or the Task Scheduler's "Import Task…" (UTF-16).
$generated = Join-Path $InstallDir "sheets-sync-task.xml"
$utf16 = $xml.Replace('encoding="UTF-8"', 'encoding="UTF-16"')
[System.IO.File]::WriteAllText($generated, $utf16, [System.Text.Encoding]::Unicode)
Write-Host "Đã tạo $generated"

if ($NoRegister) {
    Write-Host "Chưa đăng ký (-NoRegister). Đăng ký bằng: schtasks /Create /TN $TaskName /XML `"$generated`""
    exit 0
}

try {
    Register-ScheduledTask -TaskName $TaskName -Xml $xml -Force | Out-Null
} catch {
    Write-Host "Không đăng ký được tác vụ: $($_.Exception.Message)" -ForegroundColor Red
    if (-not $RunOnlyWhenLoggedOn) {
        Write-Host "Chạy lại PowerShell bằng 'Run as administrator', hoặc thêm -RunOnlyWhenLoggedOn." -ForegroundColor Yellow
    }
    exit 1
}

Write-Host "Đã đăng ký tác vụ '$TaskName': chạy lúc $($Times -join ' và ') hằng ngày."
Write-Host "  Chương trình : $exe"
Write-Host "  Cấu hình     : $configPath"
Write-Host "  Thư mục chạy : $InstallDir"
Write-Host "Chạy thử ngay : Start-ScheduledTask -TaskName $TaskName"
Write-Host "Xem kết quả   : $exe status --config `"$configPath`""

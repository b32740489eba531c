"""What the tool produces for people: the roll-up workbook, the December report."""

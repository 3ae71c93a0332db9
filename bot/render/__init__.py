"""What people see: Block Kit, pages and pictures, from plain data. Pure."""

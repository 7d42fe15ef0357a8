"""Portfolios as staff hold them: applications in an Excel workbook (one sheet per level, columns
named by the facts the versions declare), read and written losslessly beside JSON Lines, and the
decisions of a batch as a table (CSV or Excel)."""

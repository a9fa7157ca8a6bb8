"""The archivists' side of the electronic archive (数字档案室): filing closed cases, the catalogue,
access, four-property checks and fixity audits, over the `archive` library."""

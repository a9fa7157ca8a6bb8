"""Cases: the service catalogue, cases and their timeline; the clerk workbench and case pages."""

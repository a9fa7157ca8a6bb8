"""Document rendering: certificate PDFs (weasyprint) and Word notices (python-docx). No Flask, no database."""

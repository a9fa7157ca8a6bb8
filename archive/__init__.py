"""Archive library: object stores (local directory, MinIO/S3). No Flask, no database session."""

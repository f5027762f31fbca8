"""Sources turn something that names a model into a subject with readable artifacts."""

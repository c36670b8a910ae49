"""Storage shared by every stage: atomic writes, the Arrow schemas of the workspace tables."""

"""Operations tools that work on the installation as a whole (backup and restore); no models."""

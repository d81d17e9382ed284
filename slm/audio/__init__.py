"""Audio files and signals: load/save/stream through libsndfile, resampling, the Audio value."""

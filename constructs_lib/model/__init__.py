"""What a model is and needs: ``ModelProfile``, read from a local directory or the Hub (cached)."""

"""Model registry, generation backends (animatic, diffusers families, import) and cache."""

"""Policy versions: loading a version file, the registry of versions in force, the lock of published
versions, authoring, diff, impact and the readable document of a version.
"""

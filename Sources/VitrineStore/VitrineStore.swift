// VitrineStore: the storage engine. See formats/database-file.md and formats/write-ahead-log.md.

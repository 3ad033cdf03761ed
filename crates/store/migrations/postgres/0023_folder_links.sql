-- Share links to a folder: a link names a file or a folder (a path prefix
-- ending in `/`), never both. Do not edit once released: add a new migration.

ALTER TABLE links ALTER COLUMN file_id DROP NOT NULL;
ALTER TABLE links ADD COLUMN folder TEXT;
ALTER TABLE links ADD CONSTRAINT links_one_target CHECK ((file_id IS NULL) <> (folder IS NULL));

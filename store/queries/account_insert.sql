-- User accounts are numbered from 1; system accounts have negative IDs.
INSERT INTO accounts (id, name, created_at)
VALUES ((SELECT max(coalesce(max(id), 0), 0) + 1 FROM accounts), :name, :created_at)
ON CONFLICT (name) DO NOTHING;

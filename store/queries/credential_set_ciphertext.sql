-- Re-encryption under a new master key: the secret itself, and so
-- updated_at, does not change.
UPDATE credentials
SET ciphertext = :ciphertext
WHERE id = :id;

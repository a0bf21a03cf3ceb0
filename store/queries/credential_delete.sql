DELETE FROM credentials
WHERE id = :id;

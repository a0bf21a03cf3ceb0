-- The provider's credentials go with it (ON DELETE CASCADE).
DELETE FROM providers
WHERE id = :id;

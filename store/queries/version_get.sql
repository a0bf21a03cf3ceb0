SELECT version
FROM versions
WHERE name = :name;

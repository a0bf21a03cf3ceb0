INSERT INTO audit_log (at, actor, actor_key_id, action, target, detail)
VALUES (:at, :actor, :actor_key_id, :action, :target, :detail);

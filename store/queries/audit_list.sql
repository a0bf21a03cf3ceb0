-- Zero and empty parameters match everything. :action_prefix is the start of
-- the actions to match ("provider."), or empty for an exact :action.
SELECT id, at, actor, actor_key_id, action, target, detail
FROM audit_log
WHERE (:since = 0 OR at >= :since)
  AND (:until = 0 OR at < :until)
  AND (:action = '' OR action = :action)
  AND (:action_prefix = '' OR substr(action, 1, length(:action_prefix)) = :action_prefix)
  AND (:actor = '' OR actor = :actor)
  AND (:target = '' OR target = :target)
  AND (:before_id = 0 OR id < :before_id)
ORDER BY id DESC
LIMIT :limit;

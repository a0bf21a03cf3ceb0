DELETE FROM model_rates
WHERE model = :model;

-- The weights command staff give the harm tracks in the ranking, in percent of the harm table's
-- weight (100 = as the table says), versioned with the dosage rules they are set beside.
ALTER TABLE dosage_rules ADD COLUMN violent_weight_pct INTEGER NOT NULL DEFAULT 100;
ALTER TABLE dosage_rules ADD COLUMN property_weight_pct INTEGER NOT NULL DEFAULT 100;
ALTER TABLE dosage_rules ADD COLUMN quality_of_life_weight_pct INTEGER NOT NULL DEFAULT 100;

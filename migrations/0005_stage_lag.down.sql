-- Reverses 0005_stage_lag.
drop function if exists switchyard.stage_lag(integer);

-- Reverses 0003_router_hardening.
drop table if exists switchyard.idempotency_key;
drop table if exists switchyard.topic_schema;
drop table if exists switchyard.topic_policy;
drop function if exists switchyard.is_valid_grant_list(text[]);

drop function switchyard.idempotency_holder_gone(text);
alter table switchyard.idempotency_key drop column holder;

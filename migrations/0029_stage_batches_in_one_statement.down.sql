drop function switchyard.stage_batch(text, int, int, smallint[]);
drop function switchyard.count_messages(uuid[]);
drop function switchyard.keep_history(uuid[]);

drop view switchyard.subscriptions;
drop function switchyard.delete_routing_rule(text);
drop function switchyard.put_routing_rule(text, jsonb, text[], text[]);
alter table switchyard.delivery drop column via;
drop table switchyard.routing_rule;
drop function switchyard.bump_routing_rules_version();
drop table switchyard.shared_setting;
drop index switchyard.subscription_filtered;
alter table switchyard.subscription drop column filter;

-- Reverses 0006_operator_views.
drop view if exists switchyard.top_publishers;
drop view if exists switchyard.delivery_receipts;
drop view if exists switchyard.stage_overview;
drop view if exists switchyard.queue_overview;
drop table if exists switchyard.analytics_sender_hour;

drop view switchyard.anomalies;
drop table switchyard.anomaly;
drop table switchyard.anomaly_series;
drop table switchyard.analytics_sender_minute;
drop table switchyard.message_label;
drop table switchyard.classifier_teaching;
drop table switchyard.classifier_model;
drop table switchyard.topic_classifier;

-- Reverses 0007_delivery_fillfactor.
alter table switchyard.delivery set (fillfactor = 80);

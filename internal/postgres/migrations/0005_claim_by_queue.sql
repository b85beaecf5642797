-- A claim walks the queues of pending deliveries (deliveries_queue) and
-- takes the head of each: the index of pending deliveries by when they are
-- due is no longer read, and no longer written with each delivery.
DROP INDEX deliveries_due;

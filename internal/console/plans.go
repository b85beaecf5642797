package console

// planRoutes serves the response plans' pages and the replication set's.
func (c *Console) planRoutes() {}

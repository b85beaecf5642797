package console

// insightRoutes serves the insights page and its JSON.
func (c *Console) insightRoutes() {}

// loaded on every page of a site where the probe is on

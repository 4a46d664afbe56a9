"""OpenBPO: the operations platform of a business process outsourcing provider."""

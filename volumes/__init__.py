"""The volume service (Cinder v3 subset): API, agent, backends and iSCSI targets."""

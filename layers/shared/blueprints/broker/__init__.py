"""Queue broker: starts third-party containers on ECS from SQS requests (docs/blueprints/broker.md)."""

"""The local stack: sevbridge on one machine, provisioned from template.yaml into moto (docs/local-stack.md)."""

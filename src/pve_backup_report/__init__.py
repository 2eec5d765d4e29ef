"""pve-backup-report: read-only backup coverage reports for Proxmox VE and PBS."""

__version__ = "0.1.0"

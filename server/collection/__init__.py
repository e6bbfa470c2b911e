"""First-mile collection (村级揽收 → 乡镇 → 县仓, 农产品上行): see service.py."""

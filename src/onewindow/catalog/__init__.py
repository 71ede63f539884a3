"""Service catalog (政务服务事项目录): items, versions, forms, materials, guides, search."""

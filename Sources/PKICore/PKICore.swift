// PKICore module: see DESIGN.md §1.

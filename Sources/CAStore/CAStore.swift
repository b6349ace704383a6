// CAStore module: see DESIGN.md §1.

// AgentKit module: see DESIGN.md §1.

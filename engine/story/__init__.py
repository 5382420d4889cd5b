"""Script import (Fountain, Chinese script text), the LLM planner and the prompt composer."""

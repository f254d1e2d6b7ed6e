// Every supported model_type registers itself on import.
import './llama/index.js';

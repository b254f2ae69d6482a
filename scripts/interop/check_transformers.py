"""Loads the demo models and LoFIT's merged checkpoints with Hugging Face transformers and compares
their last-position logits and token ids with ours (written by scripts/check-transformers.ts).

    python3 scripts/interop/check_transformers.py <folder written by check-transformers.ts>

Needs torch and transformers (not Debian packages; the check runs where they are installed).
Exits 1 when a logit differs by more than 1e-4 or the token ids differ."""
import json
import os
import sys

try:
    import torch
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    import transformers
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit(f"check_transformers: {e}; install torch and transformers to run this check")

TOLERANCE = 1e-4


def main(folder: str) -> int:
    expected = json.load(open(os.path.join(folder, "expected.json")))
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    where = torch.cuda.get_device_name(0) if dev == "cuda" else "CPU"
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, on {where}")
    worst = 0.0
    ok = True
    for name, e in expected.items():
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(e["base"], "tokenizer.json"))
        same_ids = [tok(t)["input_ids"] for t in e["texts"]] == e["ids"]
        ok &= same_ids
        print(f"{name}: token ids {'equal' if same_ids else 'DIFFER'} on {len(e['texts'])} prompts")
        for label, path, keys in [("base", e["base"], ["base"]), ("merged LoFIT", e["merged"], ["lofit", "mergedOurs"])]:
            for dtype in (torch.float32, torch.float64):
                m = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(dev).eval()
                with torch.no_grad():
                    got = torch.stack([m(torch.tensor([ids], device=dev)).logits[0, -1].double().cpu() for ids in e["ids"]])
                for k in keys:
                    ref = torch.tensor(e["logits"][k], dtype=torch.float64)
                    d = (got - ref).abs().max().item()
                    agree = (got.argmax(-1) == ref.argmax(-1)).float().mean().item()
                    worst = max(worst, d)
                    ok &= d <= TOLERANCE
                    print(f"  {label}, transformers {str(dtype)[6:]} against ours ({k}): max |Δ logit| {d:.2e}, top token agrees {agree:.0%}")
        moved = (torch.tensor(e["logits"]["lofit"]) - torch.tensor(e["logits"]["base"])).abs().max().item()
        print(f"  the LoFIT offsets move the logits by up to {moved:.3f}, so the merged comparison tests something")
    print(f"{'passed' if ok else 'FAILED'}: largest difference {worst:.2e} (tolerance {TOLERANCE})")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

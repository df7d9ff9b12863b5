"""Index history by origin-id (deduplication of our own messages from the archive).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:46:57.479857

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index('ix_history_profile_id_origin_id', ['profile_id', 'origin_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_profile_id_origin_id')
